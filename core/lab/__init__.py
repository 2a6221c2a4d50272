"""The lab: research questions answered in the evaluation's numbers — data scoring (perplexity,
IFD, per-book ranking) today."""
