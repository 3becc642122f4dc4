"""Reports: each reads a GradeResult and renders it; none of them decides anything."""
