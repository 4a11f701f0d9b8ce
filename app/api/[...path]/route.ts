import { errorBody } from "@/lib/core/errors";

/** Unknown API paths answer in the contract's error shape, not with an HTML page. */
const notFound = () => Response.json(errorBody("not_found", "No such API route."), { status: 404 });

export const GET = notFound;
export const POST = notFound;
export const PUT = notFound;
export const PATCH = notFound;
export const DELETE = notFound;
