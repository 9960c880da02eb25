import { z } from "zod";

/**
 * Dates taken as input. PostgreSQL and JavaScript disagree at the edges
 * (year 0, years past 9999, JavaScript's ±275760), so a date from outside is
 * held to years Tally can mean before it reaches a query: a bad one is a 400
 * naming the field rather than a 500 from the database.
 */
export const MIN_INPUT_YEAR = 2000;
export const MAX_INPUT_YEAR = 9999;

const inRange = (year: number) => year >= MIN_INPUT_YEAR && year <= MAX_INPUT_YEAR;
const rangeMessage = (name: string) =>
  `${name} must fall in the years ${MIN_INPUT_YEAR} to ${MAX_INPUT_YEAR}`;

/** A calendar day written like 2027-06-30; `name` says which, in messages. */
export function dayInput(name: string) {
  return z.iso
    .date(`${name} must be a date like 2027-06-30`)
    .refine((day) => inRange(Number(day.slice(0, 4))), rangeMessage(name));
}

/** An instant: a Date, or text or a number one is made from; `name` says which, in messages. */
export function instantInput(name: string) {
  return z.coerce
    .date({ error: `${name} must be a date and time, e.g. 2027-06-30T12:00:00Z` })
    .refine((instant) => inRange(instant.getUTCFullYear()), rangeMessage(name));
}
