"""One page per stage of the path: corpus, format, model, train, chat."""
