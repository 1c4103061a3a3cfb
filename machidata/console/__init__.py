"""The SQL console (SQLコンソール): read-only SQL over the tables the actor may read (issue 14, point 2)."""
