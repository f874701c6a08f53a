"""One module per channel; each turns the outside world's messages into model objects and back."""
