"""Likelihood scoring equals a brute-force loop; batched greedy answers equal one-by-one answers."""
import math

import pytest
import torch


@pytest.fixture(scope="module")
def scorer(tiny_model_dir):
    from core.evaluate.scorer import TransformersScorer

    return TransformersScorer.load(str(tiny_model_dir), batch_size=3, device="cpu")


CHATS = [[{"role": "user", "content": "Where is the mill?"}],
         [{"role": "user", "content": "Who read aloud in the evening to the children of the town?"}],
         [{"role": "user", "content": "Где мельница?"}],
         [{"role": "user", "content": "Chapter one?"}]]
ANSWERS = ["By the river.", "The librarian", "У реки", "A storm"]


def brute_force(scorer, chat, answer) -> float:
    tok, model = scorer.tokenizer, scorer.model
    prompt = tok(tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True),
                 add_special_tokens=False)["input_ids"]
    reply = tok(answer, add_special_tokens=False)["input_ids"]
    total = 0.0
    with torch.no_grad():
        for j, token in enumerate(reply):  # one forward per answer token, no batching, no padding
            ids = torch.tensor([prompt + reply[:j]])
            logits = model(input_ids=ids).logits[0, -1].float()
            total += float(torch.log_softmax(logits, -1)[token])
    return total / len(reply)


def test_answer_logprob_equals_brute_force(scorer):
    got = scorer.answer_logprob(CHATS, ANSWERS, adapter=False)
    for value, chat, answer in zip(got, CHATS, ANSWERS):
        assert value == pytest.approx(brute_force(scorer, chat, answer), abs=1e-4)


def test_batched_generation_matches_one_by_one(scorer):
    together = scorer.generate(CHATS, 12, adapter=False)
    alone = [scorer.generate([c], 12, adapter=False)[0] for c in CHATS]
    assert together == alone


def test_text_nll_counts_every_token_after_the_first_of_each_window(scorer):
    text = "The river ran past the old mill. " * 20
    nll, count = scorer.text_nll(text, adapter=False, window=64)
    n = len(scorer.tokenizer(text, add_special_tokens=False)["input_ids"])
    windows = math.ceil(n / 64)
    assert count == n - windows
    assert nll > 0


def test_kl_is_zero_without_an_adapter(scorer):
    assert scorer.kl(CHATS, ANSWERS) == 0.0
