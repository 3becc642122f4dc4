"""Grading a whole class (`autograder grade-all`): finding each student's submission, grading
them in parallel, keeping each result on disk as it comes, and the gradebook."""
