-- Row-level security: filled in by the RLS work before this lands.
SELECT 1;
