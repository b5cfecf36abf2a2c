"""Tests of the house as a whole: the layers, imports that stay cheap."""
