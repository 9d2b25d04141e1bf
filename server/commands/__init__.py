"""Extra ``rapport`` sub-commands, one module each (registered in ``server.cli``)."""
