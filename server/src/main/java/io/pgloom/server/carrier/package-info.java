/**
 * pgloom's own carriers (io_mode = carriers): platform threads that run pgloom's virtual threads
 * and poll those threads' sockets themselves, so that a blocking read costs what an event loop
 * costs. {@link io.pgloom.server.carrier.Carriers} installs them at startup (or says why it
 * cannot); {@link io.pgloom.server.carrier.ChannelConduit} and
 * {@link io.pgloom.server.carrier.ChannelAcceptor} are the blocking streams and accept the rest
 * of the server uses over their non-blocking channels, whose descriptors each carrier polls with
 * an epoll of its own ({@code Epoll}, {@code Descriptor}). {@code SchedulerHook} (the virtual
 * thread builder) and {@code NativeIo} (a channel's descriptor) are the two classes that touch
 * JDK internals.
 */
package io.pgloom.server.carrier;
