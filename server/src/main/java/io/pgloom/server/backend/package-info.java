/**
 * The server side of the data path: {@link io.pgloom.server.backend.ServerConnection}, one
 * logged-in connection to PostgreSQL with the virtual thread that reads it for its whole life, and
 * {@link io.pgloom.server.backend.Link}, the state of a client linked to a server, whose lock
 * makes releasing the server atomic against the client counting a new request.
 */
package io.pgloom.server.backend;
