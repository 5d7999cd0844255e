-- Current status of every project: the latest row of its status history.
-- Rows are ordered by date (partial dates compare as text, so "2025" sorts before "2025-05-21"), then by
-- their position in the record, so a later row on the same date wins. Projects without any status row
-- appear with an empty status. Current status is never typed by hand.
-- Columns:
--   project_id (Project ID): The project.
--   project (Project): The project's English name.
--   sector (Sector): The project's economic sector. [values: projects.sector]
--   place_id (Place ID): The most precise place a source gives for the project.
--   status (Current status): The status of the latest row of the project's own status history.
--     [values: projects_status_history.status]
--   evidence (Evidence): What kind of evidence that row gives. [values: projects_status_history.evidence]
--   status_date (Status as of): The row's date.
--   source_id (Source): The source giving it.
--   locator (Where in the source): Where in the source.
--   history_rows (Rows of status history): How many rows the project's status history has.
SELECT
  p.id AS project_id,
  p.name_en AS project,
  p.sector AS sector,
  p.place_id AS place_id,
  h.status AS status,
  h.evidence AS evidence,
  h.date AS status_date,
  h.source_id AS source_id,
  h.locator AS locator,
  (SELECT COUNT(*) FROM projects_status_history AS c WHERE c.project_id = p.id) AS history_rows
FROM projects AS p
LEFT JOIN projects_status_history AS h
  ON h.project_id = p.id
  AND NOT EXISTS (
    SELECT 1
    FROM projects_status_history AS later
    WHERE later.project_id = h.project_id
      AND (later.date > h.date OR (later.date = h.date AND later.position > h.position))
  )
ORDER BY p.id
