"""The Python API: a Client over the stores, and the run context that training code uses."""
