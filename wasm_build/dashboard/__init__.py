"""Build step of the site owner's dashboard (uPlot + our script and styles, content-hashed)."""
