"""agentcdr's own call store on SQLite, PostgreSQL and MariaDB/MySQL: one schema, one set of
migrations, one report query, one user table, with a module per database for its driver."""
