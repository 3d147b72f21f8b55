-- The language a person chose in the console (zh-CN or en); NULL: not chosen.
ALTER TABLE users ADD COLUMN lang TEXT CHECK (lang IN ('zh-CN', 'en'));
