-- Every change that per-node caches depend on is announced on the channel imgpath_changes, by
-- the database itself: whichever node (or operator at psql) made it, every node hears it after
-- commit (src/cluster/pg-bus.ts). `from` is the writer's application_name, so a node skips its own.
-- Usage counters on api_keys are not announced (only the columns that decide a verdict are).
CREATE OR REPLACE FUNCTION imgpath_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  PERFORM pg_notify('imgpath_changes', json_build_object(
    'from', current_setting('application_name', true),
    'change', json_build_object('kind', 'row', 'table', TG_TABLE_NAME, 'op', lower(TG_OP), 'id', to_jsonb(r) ->> TG_ARGV[0])
  )::text);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER images_changed AFTER INSERT OR UPDATE OR DELETE ON images FOR EACH ROW EXECUTE FUNCTION imgpath_notify_change('id');
--> statement-breakpoint
CREATE TRIGGER image_aliases_changed AFTER INSERT OR UPDATE OR DELETE ON image_aliases FOR EACH ROW EXECUTE FUNCTION imgpath_notify_change('image_id');
--> statement-breakpoint
CREATE TRIGGER presets_changed AFTER INSERT OR UPDATE OR DELETE ON presets FOR EACH ROW EXECUTE FUNCTION imgpath_notify_change('name');
--> statement-breakpoint
CREATE TRIGGER users_changed AFTER INSERT OR DELETE OR UPDATE OF password_hash, role ON users FOR EACH ROW EXECUTE FUNCTION imgpath_notify_change('id');
--> statement-breakpoint
CREATE TRIGGER api_keys_changed AFTER INSERT OR DELETE OR UPDATE OF hash, previous_hash, previous_valid_until, revoked_at, scopes, user_id ON api_keys FOR EACH ROW EXECUTE FUNCTION imgpath_notify_change('id');
--> statement-breakpoint
CREATE TRIGGER tasks_queued AFTER INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION imgpath_notify_change('id');
