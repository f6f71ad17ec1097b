"""The ``fastlif`` command line: the entry point (:mod:`.main`), one module per subcommand (``train``, ``demo``,
``energy``, ``landscape``), what they share (:mod:`.usage`) and the run-folder opener (:mod:`.run_folder`).

The library (``fastlif.train``, ``fastlif.energy``, ...) never imports from here."""
