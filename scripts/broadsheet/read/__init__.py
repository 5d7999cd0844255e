"""Reading: YAML files become records, and records become rows.

    discover   which files hold records of which resource (the layouts the schemas declare)
    records    the one strict YAML reader: records with the line and column of every value
    tables     the one row builder: records → rows of each table, recording problems instead of stopping

The speed wing (broadsheet.speed) has a faster reader for the plain corner of YAML and the workers that run these
over both cores; each is held equal to this package by a named test.
"""
