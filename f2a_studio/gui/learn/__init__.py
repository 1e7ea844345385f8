"""Learning from corrections in the studio: anchor placing (fast correction), retraining the project's
models in the background, and the review queue's reasons. Qt lives only in the modules that need it."""
