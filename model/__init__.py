"""innogrid's model: the simulation, importable on its own."""
