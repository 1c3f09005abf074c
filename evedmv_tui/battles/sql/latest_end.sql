SELECT max(end_time) FROM battles
