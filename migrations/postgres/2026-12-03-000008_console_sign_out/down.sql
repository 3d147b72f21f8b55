ALTER TABLE users DROP COLUMN console_signed_out_at;
