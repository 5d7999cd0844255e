-- One row per project, for filtering: where it is (its place, the region that place lies in, and that
-- region's country), who invests (organizations named as investors; when none is, those named as developers
-- or proposers) and their countries, the status from the project's whole linked story (view
-- project_story_status) with its date, the largest and smallest investment figure announced for the project
-- (in the currency most of its figures use), how many figures give it, and how many distinct sources the
-- project's record cites. Unknowns stay empty.
-- Columns:
--   project_id (Project ID): The project.
--   project (Project): The project's English name.
--   sector (Sector): The project's economic sector. [values: projects.sector]
--   place_id (Place ID): The most precise place a source gives for the project.
--   place (Place): That place's English name.
--   region_id (Region ID): The region (first-level unit) the place lies in, or is.
--   region (Region): That region's English name.
--   country (Country): The two-letter ISO 3166-1 code of the country of that region (or place).
--     [values: places.country]
--   investors (Investors): Organizations named as investors (else as developers or proposers), by their English
--     names. [list]
--   investor_countries (Investors' countries): Their countries, a JSON list of two-letter ISO 3166-1 codes; empty when
--     not known.
--     [values: organizations.country, list]
--   status (Latest status): The latest status from the project's whole linked story (view project_story_status).
--     [values: projects_status_history.status]
--   status_date (Status as of): When that status held.
--   last_evidence (Last evidence): The newest date of any evidence in the project's story.
--   currency (Currency): The currency of the amounts (the one most of the project's investment figures use).
--   amount_max (Largest amount): The largest investment announced for the project in that currency, in whole units.
--     [currency: currency]
--   amount_min (Smallest amount): The smallest investment announced for the project in that currency, in whole units.
--     [currency: currency]
--   investment_figures (Investment figures): How many investment figures the sources give in that currency.
--   sources (Sources): How many distinct sources the project's record cites.
WITH RECURSIVE up(place_id, ancestor_id, depth) AS (
  SELECT id, id, 0 FROM places
  UNION ALL
  SELECT up.place_id, p.parent_id, up.depth + 1
  FROM up JOIN places AS p ON p.id = up.ancestor_id
  WHERE p.parent_id IS NOT NULL AND up.depth < 12
),
region AS (
  SELECT up.place_id, r.id AS region_id, r.name_en AS region,
    ROW_NUMBER() OVER (PARTITION BY up.place_id ORDER BY up.depth) AS nearest
  FROM up JOIN places AS r ON r.id = up.ancestor_id AND r.kind = 'region'
),
backers AS (
  SELECT po.project_id, po.organization_id, o.name_en, o.country,
    CASE WHEN po.role = 'investor' THEN 1 ELSE 2 END AS tier
  FROM projects_organizations AS po
  JOIN organizations AS o ON o.id = po.organization_id
  WHERE po.role IN ('investor', 'developer', 'proposer')
),
investors AS (
  SELECT b.project_id,
    NULLIF(json_group_array(DISTINCT b.name_en) FILTER (WHERE b.name_en IS NOT NULL), '[]') AS investors,
    NULLIF(json_group_array(DISTINCT b.country) FILTER (WHERE b.country IS NOT NULL), '[]') AS investor_countries
  FROM backers AS b
  WHERE b.tier = (SELECT MIN(x.tier) FROM backers AS x WHERE x.project_id = b.project_id)
  GROUP BY b.project_id
),
money AS (
  SELECT project_id, currency, MAX(amount) AS amount_max, MIN(amount) AS amount_min, COUNT(*) AS figures,
    ROW_NUMBER() OVER (PARTITION BY project_id ORDER BY COUNT(*) DESC, MIN(position)) AS main
  FROM projects_figures
  WHERE metric = 'investment' AND currency IS NOT NULL
  GROUP BY project_id, currency
),
cited AS (
  SELECT project_id, source_id FROM projects_citations
  UNION SELECT project_id, source_id FROM projects_figures
  UNION SELECT project_id, source_id FROM projects_status_history
  UNION SELECT project_id, source_id FROM projects_organizations
  UNION SELECT project_id, source_id FROM projects_relations
)
SELECT
  p.id AS project_id,
  p.name_en AS project,
  p.sector AS sector,
  p.place_id AS place_id,
  pl.name_en AS place,
  r.region_id AS region_id,
  r.region AS region,
  (SELECT c.country FROM places AS c WHERE c.id = COALESCE(r.region_id, p.place_id)) AS country,
  i.investors AS investors,
  i.investor_countries AS investor_countries,
  s.status AS status,
  s.status_date AS status_date,
  s.last_evidence AS last_evidence,
  m.currency AS currency,
  m.amount_max AS amount_max,
  m.amount_min AS amount_min,
  COALESCE(m.figures, 0) AS investment_figures,
  (SELECT COUNT(DISTINCT c.source_id) FROM cited AS c WHERE c.project_id = p.id AND c.source_id IS NOT NULL)
    AS sources
FROM projects AS p
LEFT JOIN places AS pl ON pl.id = p.place_id
LEFT JOIN region AS r ON r.place_id = p.place_id AND r.nearest = 1
LEFT JOIN investors AS i ON i.project_id = p.id
LEFT JOIN project_story_status AS s ON s.project_id = p.id
LEFT JOIN money AS m ON m.project_id = p.id AND m.main = 1
ORDER BY p.id
