"""The trusted grading core: rubric, submissions, the grading session and its results."""
