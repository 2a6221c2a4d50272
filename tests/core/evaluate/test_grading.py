"""Key-term grading on hand cases: the shared facts rule, names, numbers, Cyrillic, alternatives."""
from core.evaluate.grading import contains_answer, final_answer, grade, grade_exact, key_terms


def test_word_boundary_at_start_stems_allowed_for_long_answers():
    assert contains_answer("He lived in Alexeevsky village.", "Alexeevsk")
    assert not contains_answer("the superpython package", "python")
    assert contains_answer("It is written in Python3.", "Python")


def test_short_answers_and_numbers_end_at_a_boundary():
    assert not contains_answer("It was 1984.", "4")
    assert not contains_answer("a machine", "Mac")
    assert contains_answer("Runs on Mac OS.", "Mac")
    assert contains_answer("There are 4 files.", "4")
    assert not contains_answer("Version 4.5 is out", "4")
    assert contains_answer("TAB-delimited", "TAB")


def test_alternatives_any_counts_and_case_is_ignored():
    assert grade("it runs on linux only", ["Linux", "Mac"])
    assert grade("peptovar creates FOUR files", ["four", "4"])
    assert not grade("It creates several files.", ["four", "4"])


def test_cyrillic_case_yo_and_stems():
    assert contains_answer("Столица — МОСКВА.", "Москва")
    assert contains_answer("Он жил в Москве", "Москв")
    assert contains_answer("Пётр пришёл", "Петр")
    assert not contains_answer("подмосковье", "Москв")


def test_answers_that_start_with_punctuation():
    assert contains_answer("The default is ./output, created if missing", "./output")
    assert contains_answer("use the -peptlen option", "peptlen")


def test_long_reference_graded_by_key_terms():
    reference = "Tom shared the red apples with his neighbour Mrs. Hill in 1999"
    terms = key_terms(reference)
    assert "1999" in terms and "Hill" in terms
    assert grade("In 1999 he gave them to Mrs. Hill.", [reference])
    assert not grade("He kept the apples.", [reference])


def test_reasoning_takes_the_number_the_reply_settles_on():
    assert grade_exact("3 + 4 = 7, minus 2 is 5. The answer is 5.", ["5"])
    assert not grade_exact("The answer is 7, then 2 are eaten", ["5"])
    assert grade_exact("5", ["5"])
    assert not grade_exact("She has 15 apples.", ["5"])
    assert grade_exact("Ответ: 13", ["13"])
    assert grade_exact("Sam is the shortest.", ["Sam"])
    assert grade_exact("It finishes at 20:00. Answer: 8", ["8", "20"])
    assert final_answer("Step 1. Add. The answer is 12") == "12"
