-- Whether any killmail still waits for its body.
SELECT EXISTS (SELECT 1 FROM killmail_index WHERE state = 'pending')
