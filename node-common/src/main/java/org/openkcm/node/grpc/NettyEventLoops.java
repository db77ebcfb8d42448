package org.openkcm.node.grpc;

import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * A node's own Netty event loops for its gRPC listener and its gRPC clients alike (epoll where the
 * native transport loads, NIO otherwise). Without it grpc-java puts every server and client of the
 * JVM on one shared group of twice as many threads as cores. A call that arrives on the listener
 * and leaves on a client whose connection sits on the same event loop is written there without
 * waking another thread, and so is its answer on the way back: with one thread, every such hop.
 */
public final class NettyEventLoops implements AutoCloseable {

  private final EventLoopGroup group;
  private final Class<? extends ServerChannel> serverChannel;
  private final Class<? extends Channel> clientChannel;
  private final int threads;

  private NettyEventLoops(
      EventLoopGroup group,
      Class<? extends ServerChannel> serverChannel,
      Class<? extends Channel> clientChannel,
      int threads) {
    this.group = group;
    this.serverChannel = serverChannel;
    this.clientChannel = clientChannel;
    this.threads = threads;
  }

  /** {@code threads} event loops named {@code name-…} (daemon threads). */
  public static NettyEventLoops create(String name, int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("event loops need at least one thread, was " + threads);
    }
    DefaultThreadFactory factory = new DefaultThreadFactory(name, true);
    return Epoll.isAvailable()
        ? new NettyEventLoops(
            new EpollEventLoopGroup(threads, factory),
            EpollServerSocketChannel.class,
            EpollSocketChannel.class,
            threads)
        : new NettyEventLoops(
            new NioEventLoopGroup(threads, factory),
            NioServerSocketChannel.class,
            NioSocketChannel.class,
            threads);
  }

  public int threads() {
    return threads;
  }

  void applyTo(NettyServerBuilder b) {
    b.bossEventLoopGroup(group).workerEventLoopGroup(group).channelType(serverChannel);
  }

  void applyTo(NettyChannelBuilder b) {
    b.eventLoopGroup(group).channelType(clientChannel);
  }

  /** Stops the threads; call after every server and client on them is closed. */
  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @Override
  public String toString() {
    return "NettyEventLoops[" + threads + (Epoll.isAvailable() ? " epoll" : " nio") + "]";
  }
}
