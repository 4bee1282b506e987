"""Everything that writes the store: generator, build, atomic publish, command line."""
