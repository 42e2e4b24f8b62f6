"""Attention layers: Attention, AdditiveAttention, MultiHeadAttention, EinsumDense."""
