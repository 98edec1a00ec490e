"""Day-two operations on a bootstrapped stage: exec, env, maintenance, hooks, backups and
notifications. Each module builds its commands from validated values (pure, tested as tables);
the commands run through ``deployer.remote``."""
