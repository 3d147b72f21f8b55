-- When the person last signed out of the console: every console session
-- begun before then is over (a copied cookie included). NULL: never.
ALTER TABLE users ADD COLUMN console_signed_out_at TIMESTAMP;
