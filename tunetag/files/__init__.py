"""Files written whole or not at all (atomic renames), and locks beside the files two
processes may change at once."""
