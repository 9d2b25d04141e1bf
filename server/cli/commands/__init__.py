"""``rapport`` sub-commands, one module per command or group (registered in ``main.py``)."""
