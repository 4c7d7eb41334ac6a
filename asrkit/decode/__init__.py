"""Decoding CTC emissions: greedy, lexicon beam search with an n-gram LM."""
