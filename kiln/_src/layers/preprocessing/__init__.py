"""Preprocessing layers: rescaling, feature normalization, category encoding."""
