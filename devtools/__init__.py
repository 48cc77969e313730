"""Development and demo tooling: the commands that run the PHLO simulator against this desk's
configuration (`phlo_simulator`) and the whole product on one machine (`demo`, what `make run`
ends in). The simulator itself (simulator/) never reads our database; what it needs of our
configuration is read here and handed to it."""
