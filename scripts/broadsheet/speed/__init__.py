"""The speed wing: accelerators that give the same answers as the reference pipeline in broadsheet.validate, each
held equal to what it replaces by the test named in its docstring. Only broadsheet.validate picks them.

    plainlines   a faster reader for the plain corner of YAML (same Entry tree as broadsheet.read.records)
    vouch        which rows are certainly valid for frictionless; the cell rules compiled per schema
    keys         unique, primary and foreign keys over whole tables, as frictionless reports them
    workers      the per-file work on every core
    packing      FileRows as builtins, for workers and the cache
    cache        per-file results of unchanged files
    incremental  a run after a clean one rechecks only the values changed files touch
"""
