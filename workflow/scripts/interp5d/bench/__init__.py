"""The benchmark harness: the one runner, quality targets, the memory meter, the roofline,
records and provenance. It asks the estimators what they are and measures them alike."""
