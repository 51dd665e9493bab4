"""A trained model and what it says of songs: the run folder, and class probabilities of
songs from a model or a run (the one scoring path shared by training and predict)."""
