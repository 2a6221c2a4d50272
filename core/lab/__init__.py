"""The lab: research questions answered in the evaluation's numbers — data scoring (perplexity, IFD,
per-book ranking, a selection to train on), adapter merging, and experiments as YAML recipes
(formats compared on an equal budget)."""
