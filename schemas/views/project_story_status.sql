-- The status of each project from its whole linked story, not from its own record alone.
-- The story of a project is its own record and every project record linked to it as the same project with a
-- confirmed or probable link (projects_relations, either direction; one step, possible links never count).
-- Evidence is every dated row of the story's status histories, and every agreement covering a record of the
-- story (agreements_projects, confirmed or probable), which counts as "agreed" at its signing date, or at the
-- start of the event where it was signed when no date is given.
-- The latest evidence wins, except that an announcement never outranks evidence of a further stage, whatever
-- their dates (a later report of the plans does not undo a signing): by date (partial dates compare as text, so "2025" sorts before "2025-05-21"); on
-- the same date the further stage wins (announced, agreed, launch ceremony, construction, operating, then
-- suspended and cancelled); then the project's own record before a linked one. last_evidence is the newest
-- date of any evidence in the story; story_records how many records the story joins.
-- Columns:
--   project_id (Project ID): The project.
--   project (Project): The project's English name.
--   status (Latest status): Its latest status from the whole story (empty when no evidence is known).
--     [values: projects_status_history.status]
--   status_date (Status as of): When that status held (YYYY, YYYY-MM or YYYY-MM-DD), as the evidence dates it.
--   evidence (Evidence): What kind of evidence gives the status (announcement, signing, ground-breaking ceremony, ...).
--     [values: projects_status_history.evidence]
--   source_id (Source): The source giving that evidence.
--   locator (Where in the source): Where in the source.
--   status_from_project_id (From the record): The record of the story the evidence belongs to (the project itself or a
--     record linked to it as the same project).
--   status_link (How that record is linked): How that record is linked: same record, or confirmed or probable same
--     project.
--   status_agreement_id (Agreement giving the status): The agreement that gives the status, when an agreement covering
--     the project does.
--   last_evidence (Last evidence): The newest date of any evidence in the story.
--   story_records (Records in the story): How many project records the story joins (1: the project alone).
WITH story AS (
  SELECT id AS project_id, id AS member_id, 'same record' AS link, 0 AS strength FROM projects
  UNION
  SELECT project_id, related_project_id, confidence || ' same project',
    CASE confidence WHEN 'confirmed' THEN 1 ELSE 2 END
  FROM projects_relations
  WHERE relation = 'same_project' AND confidence IN ('confirmed', 'probable')
  UNION
  SELECT related_project_id, project_id, confidence || ' same project',
    CASE confidence WHEN 'confirmed' THEN 1 ELSE 2 END
  FROM projects_relations
  WHERE relation = 'same_project' AND confidence IN ('confirmed', 'probable')
),
evidence AS (
  SELECT s.project_id, s.member_id, s.link, s.strength, h.date, h.status, h.evidence,
    h.source_id, h.locator, NULL AS agreement_id, h.position
  FROM story AS s
  JOIN projects_status_history AS h ON h.project_id = s.member_id
  UNION ALL
  SELECT s.project_id, s.member_id, s.link, s.strength, COALESCE(a.signed, e.start_date), 'agreed', 'signing',
    ap.source_id, ap.locator, a.id, 0
  FROM story AS s
  JOIN agreements_projects AS ap ON ap.project_id = s.member_id AND ap.confidence IN ('confirmed', 'probable')
  JOIN agreements AS a ON a.id = ap.agreement_id
  LEFT JOIN events AS e ON e.id = a.event_id
),
ranked AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY project_id ORDER BY status = 'announced', date DESC,
      CASE status WHEN 'announced' THEN 1 WHEN 'agreed' THEN 2 WHEN 'launch_ceremony_held' THEN 3
        WHEN 'under_construction' THEN 4 WHEN 'operating' THEN 5 WHEN 'suspended' THEN 6
        WHEN 'cancelled' THEN 7 ELSE 0 END DESC,
      strength, position DESC) AS rank
  FROM evidence
)
SELECT
  p.id AS project_id,
  p.name_en AS project,
  r.status AS status,
  r.date AS status_date,
  r.evidence AS evidence,
  r.source_id AS source_id,
  r.locator AS locator,
  r.member_id AS status_from_project_id,
  r.link AS status_link,
  r.agreement_id AS status_agreement_id,
  (SELECT MAX(x.date) FROM evidence AS x WHERE x.project_id = p.id) AS last_evidence,
  (SELECT COUNT(*) FROM story AS x WHERE x.project_id = p.id) AS story_records
FROM projects AS p
LEFT JOIN ranked AS r ON r.project_id = p.id AND r.rank = 1
ORDER BY p.id
