package dev.layerfs.image.cli;

/** One of the {@code layerfs image} commands: what it takes, and what it does with it. */
interface Subcommand {
    Usage usage();

    /** Runs the command; its exit status. */
    int run(Args args) throws Exception;
}
