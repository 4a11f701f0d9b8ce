/** Whether `value` can be one of our uuid ids: anything else is answered "not found" before Postgres would refuse it. */
export function isUuid(value: string) {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
