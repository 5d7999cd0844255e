"""Writers: one module per output (csv, json, sqlite, descriptor, bundle), each a pure function of validated
rows and the package's schemas. `broadsheet.build` orchestrates them; nothing here prints."""
