"""Texture synthesis by optimisation (Gatys et al. 2015) on fixed feature statistics."""
