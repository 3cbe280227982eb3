"""Domain values, each defined once: hours, dates, categories, resident ID numbers, texts.

Every door (push, import, sync, CLI, pages) validates through these; importers map their
platforms' formats onto them first (:mod:`importers.mapping`)."""
