"""Low-level operations shared by the layers (nn/) and the entropy models (entropy/)."""
