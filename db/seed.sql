-- Demo data for `appointctl seed`: two providers (Berlin and New York).
-- Idempotent: fixed ids, ON CONFLICT DO NOTHING. No appointments: those are
-- made through the API, which writes their events. No events either:
-- appointctl then announces each new provider with the API's encoder
-- (codec_event_envelope), so every event in the outbox has one JSON form.
INSERT INTO providers (id, config, created_at, updated_at) VALUES
 ('11111111-1111-4111-8111-111111111111',
  '{"timezone":"Europe/Berlin","appointmentDuration":30,"weeklySchedule":{"monday":[{"start":"09:00","end":"17:00"}],"tuesday":[{"start":"08:00","end":"12:00"},{"start":"13:00","end":"18:00"}],"wednesday":[{"start":"09:00","end":"17:00"}],"thursday":[{"start":"09:00","end":"17:00"}],"friday":[{"start":"09:00","end":"15:00"}]},"slotInterval":30,"bufferBefore":0,"bufferAfter":10,"minimumNotice":120,"bookingHorizonDays":60,"dateOverrides":{}}',
  now(), now()),
 ('22222222-2222-4222-8222-222222222222',
  '{"timezone":"America/New_York","appointmentDuration":45,"weeklySchedule":{"monday":[{"start":"08:00","end":"16:00"}],"wednesday":[{"start":"08:00","end":"16:00"}],"friday":[{"start":"08:00","end":"16:00"}]},"slotInterval":15,"bufferBefore":5,"bufferAfter":5,"minimumNotice":0,"bookingHorizonDays":null,"dateOverrides":{}}',
  now(), now())
ON CONFLICT (id) DO NOTHING;
