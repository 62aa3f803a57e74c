package dev.layerfs.image.importer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.layerfs.image.extract.Decompression;
import dev.layerfs.image.extract.LayerExtractor;
import dev.layerfs.image.extract.UnsafeEntryException;
import dev.layerfs.image.source.ArchiveReader;
import dev.layerfs.image.source.ImageSource;
import dev.layerfs.image.source.ImportPlan;
import dev.layerfs.image.source.KnownBlobs;
import dev.layerfs.image.source.ImportPlan.LayerSource;
import dev.layerfs.image.store.CountingDigestStream;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import dev.layerfs.image.store.LayerInfo;
import dev.layerfs.image.store.LayerStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;

/**
 * {@code image import}: reads each image of an archive and adds what the store lacks. All of an image's new
 * layers and blobs are made in a private tmp directory and checked (every digest) before the first one is renamed
 * into place, so a failed import leaves the store as it was. The layers an image lacks are staged at the same
 * time ({@link ParallelStaging}); their lines are printed in the image's layer order. Each layer's lock is held
 * from the check "already there?" to the rename, taken in digest order so that concurrent imports cannot
 * deadlock; a second import of a shared layer waits, then finds it present. A manifest or config equal to the
 * store's blob of its digest is not hashed again (KnownBlobs).
 */
public final class Importer {
    private final LayerStore store;
    private final Progress progress;

    public Importer(LayerStore store, Progress progress) {
        this.store = store;
        this.progress = progress;
    }

    /** Imports every image of {@code archive}; returns the names (or IDs) of the images now in the store. */
    public List<String> importArchive(Path archive, Optional<String> tag) throws ImageStoreException {
        if (!Files.exists(archive)) {
            throw new ImageStoreException(archive + " does not exist");
        }
        List<String> loaded = new ArrayList<>();
        try (ImageSource src = ImageSource.open(archive)) {
            List<ImportPlan> plans = ArchiveReader.read(src, archive.toString(), new StoredBlobs(store));
            if (tag.isPresent() && plans.size() > 1) {
                throw new ImageStoreException(archive + " holds " + plans.size() + " images: --tag names one");
            }
            for (ImportPlan plan : plans) {
                List<String> names = tag.isPresent() ? List.of(tag.get()) : plan.names();
                importImage(src, plan, names);
                loaded.add(names.isEmpty() ? plan.configDigest().toString() : String.join(", ", names));
            }
        } catch (IOException e) {
            throw new ImageStoreException("cannot import " + archive + ": " + e.getMessage(), e);
        }
        return loaded;
    }

    /**
     * Adds one uncompressed layer tar (a commit's) to the store, extracting it like an imported layer; its blob
     * is the tar itself. Returns quietly when the store has it already.
     */
    public void addLayerTar(Path tarFile, Digest diffId) throws ImageStoreException {
        try (ImageSource src = ImageSource.open(tarFile.getParent())) {
            FileLock lock = store.lock(diffId.hex());
            Path tmp = store.newTempDir();
            try {
                if (store.hasLayer(diffId) && store.hasBlob(diffId)) {
                    return;
                }
                LayerSource layer = new LayerSource(tarFile.getFileName().toString(), Optional.empty(),
                        Optional.empty(), Json.OCI_LAYER_TAR, diffId);
                Staged s = stage(src, layer, tmp.resolve("layer"), store.hasLayer(diffId), UnaryOperator.identity());
                progress.line(s.line());
                store.commitBlob(s.blobFile(), diffId);
                if (s.layerDir() != null) {
                    store.commitLayer(s.layerDir(), diffId);
                }
            } finally {
                LayerStore.unlock(lock);
                LayerStore.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new ImageStoreException("cannot add the layer " + diffId.shortHex() + ": " + e.getMessage(), e);
        }
    }

    /** The store's blobs, as the archive readers consult them (see KnownBlobs). */
    private static final class StoredBlobs implements KnownBlobs {
        private final LayerStore store;

        StoredBlobs(LayerStore store) {
            this.store = store;
        }

        @Override
        public boolean holds(Digest digest, byte[] content) {
            return store.holdsBlob(digest, content);
        }
    }

    /** A layer made during this import, waiting for the rename into place; {@code line} tells the user. */
    private record Staged(Path layerDir, Digest diffId, Path blobFile, Digest blobDigest, String line) {}

    /** A layer of the image, with the digest of its blob and whether the store has that blob already. */
    private record Planned(LayerSource layer, Digest blob, boolean blobStored) {}

    private void importImage(ImageSource src, ImportPlan plan, List<String> names)
            throws IOException, ImageStoreException {
        List<FileLock> locks = new ArrayList<>();
        Path tmp = null;
        try {
            Set<Digest> diffIds = new TreeSet<>();
            long total = 0;
            for (LayerSource layer : plan.layers()) {
                diffIds.add(layer.diffId());
                total += src.size(layer.path());
            }
            for (Digest d : diffIds) {
                locks.add(store.lock(d.hex()));
            }
            progress.start(total, plan.layers().size());
            // What the store lacks, by layer index (a diff_id listed twice is staged once). A layer whose tree
            // and blob are both there is not read at all, not even hashed: the archive's copy would be neither
            // kept nor used (a mount reads the store's tree, verified against the diff_id when it was extracted;
            // an export the store's blob, verified against its digest when it was kept), while the manifest and
            // config that name it were verified before this point, and that this blob decompresses to this
            // diff_id was checked when the two were first kept together (LayerStore.recordBlobOf). A layer
            // with its tree but not this blob, or not known to pair with it, is read whole and both digests
            // checked.
            List<Planned> planned = new ArrayList<>();
            Map<Integer, LayerSource> missing = new LinkedHashMap<>();
            Set<Digest> seen = new HashSet<>();
            for (int i = 0; i < plan.layers().size(); i++) {
                LayerSource layer = plan.layers().get(i);
                Digest blob = layer.blobDigest().orElse(layer.diffId());
                Planned p = new Planned(layer, blob, store.hasBlob(blob));
                planned.add(p);
                if (seen.add(layer.diffId()) && !(store.hasLayer(layer.diffId()) && p.blobStored()
                        && store.blobVerifiedFor(layer.diffId(), blob))) {
                    missing.put(i, layer);
                }
            }
            // The private work directory, only where there is something to stage: a re-import makes none.
            Path work = missing.isEmpty() ? null : store.newTempDir();
            tmp = work;
            Map<Digest, Staged> staged = new LinkedHashMap<>();
            ArrayNode layerDescriptors = Json.array();
            try (ParallelStaging<Staged> staging = new ParallelStaging<>(missing.size())) {
                Map<Integer, Future<Staged>> running = new HashMap<>();
                for (Map.Entry<Integer, LayerSource> m : missing.entrySet()) {
                    int i = m.getKey();
                    LayerSource layer = m.getValue();
                    running.put(i, staging.submit(() -> stage(src, layer, work.resolve("layer-" + i),
                            store.hasLayer(layer.diffId()), staging::stopOnFailure)));
                }
                for (int i = 0; i < planned.size(); i++) {
                    LayerSource layer = planned.get(i).layer();
                    Digest blob = planned.get(i).blob();
                    Future<Staged> f = running.get(i);
                    if (f == null) {
                        progress.line(blob.shortHex() + ": Already exists");
                    } else {
                        Staged s = staging.result(f);
                        progress.line(s.line());
                        staged.put(layer.diffId(), s);
                    }
                    progress.layerDone();
                    long blobSize = planned.get(i).blobStored() ? Files.size(store.blob(blob))
                            : Files.size(staged.get(layer.diffId()).blobFile());
                    String mediaType = layer.blobDigest().isPresent() ? layer.mediaType() : Json.OCI_LAYER_TAR;
                    layerDescriptors.add(Json.descriptor(mediaType, blob, blobSize));
                }
            }
            progress.finish();
            // Everything checked: into place, blobs and layers first, the image's index entry last.
            for (Staged s : staged.values()) {
                store.commitBlob(s.blobFile(), s.blobDigest());
                if (s.layerDir() != null) {
                    store.commitLayer(s.layerDir(), s.diffId());
                }
                store.recordBlobOf(s.diffId(), s.blobDigest());
            }
            store.writeBlob(plan.config(), plan.configDigest());
            byte[] manifest;
            Digest manifestDigest;
            if (plan.manifest() != null) {
                manifest = plan.manifest();
                manifestDigest = store.writeBlob(manifest, plan.manifestDigest());
            } else {
                manifest = dockerManifest(plan, layerDescriptors);
                manifestDigest = store.writeBlob(manifest);
            }
            progress.line("Writing manifest to image destination");
            new ImageIndex(store).add(Json.descriptor(Json.OCI_MANIFEST, manifestDigest, manifest.length), names);
        } finally {
            progress.finish();
            for (FileLock lock : locks) {
                LayerStore.unlock(lock);
            }
            if (tmp != null) {
                LayerStore.deleteTree(tmp);
            }
        }
    }

    /**
     * Reads one layer file: extracts it into {@code dir/root} unless the layer is already extracted (then only its
     * blob is copied), and keeps the blob: as it is for an OCI layout, uncompressed for a docker-archive (whose
     * manifest promises no blob digest, so the store's manifest names the diff_id). Checks both digests.
     * {@code guard} wraps the layer file as it is opened (an import in parallel stops it once another layer fails).
     */
    private Staged stage(ImageSource src, LayerSource layer, Path dir, boolean haveLayer,
                         UnaryOperator<InputStream> guard) throws IOException, ImageStoreException {
        Files.createDirectory(dir);
        Path blobFile = dir.resolve("blob");
        boolean keepRaw = layer.blobDigest().isPresent();
        String label = layer.blobDigest().orElse(layer.diffId()).shortHex();
        LayerExtractor.Stats stats = null;
        long diffSize;
        Digest blobDigest;
        Digest diffId;
        try (InputStream file = progress.track(guard.apply(src.open(layer.path())));
             OutputStream blobOut = new BufferedOutputStream(Files.newOutputStream(blobFile), 1 << 16)) {
            CountingDigestStream raw = new CountingDigestStream(keepRaw ? new Tee(file, blobOut) : file);
            CountingDigestStream plain = new CountingDigestStream(keepRaw ? Decompression.open(raw)
                    : new Tee(Decompression.open(raw), blobOut));
            if (!haveLayer) {
                Files.createDirectory(dir.resolve("root"));
                stats = LayerExtractor.extract(plain, dir.resolve("root"));
            }
            plain.drain();
            raw.drain();
            diffSize = plain.count();
            diffId = plain.digest();
            blobDigest = keepRaw ? raw.digest() : diffId;
            if (layer.blobSize().isPresent() && layer.blobSize().get() != raw.count()) {
                throw new ImageStoreException("layer " + layer.path() + " has " + raw.count() + " bytes, the"
                        + " manifest says " + layer.blobSize().get());
            }
        } catch (UnsafeEntryException e) {
            throw new ImageStoreException("layer " + label + " (" + layer.path() + "): " + e.getMessage());
        } catch (IOException e) {
            throw new ImageStoreException("layer " + label + " (" + layer.path() + "): " + e.getMessage(), e);
        }
        if (layer.blobDigest().isPresent() && !layer.blobDigest().get().equals(blobDigest)) {
            throw new ImageStoreException("layer " + layer.path() + " has digest " + blobDigest + ", the manifest"
                    + " says " + layer.blobDigest().get());
        }
        if (!diffId.equals(layer.diffId())) {
            throw new ImageStoreException("layer " + label + " (" + layer.path() + ") uncompressed has digest "
                    + diffId + ", the config's diff_id is " + layer.diffId());
        }
        if (haveLayer) {
            String line = store.hasBlob(blobDigest) ? ": Already exists (its blob checked against the layer)"
                    : ": Copied blob (layer already extracted)";
            return new Staged(null, diffId, blobFile, blobDigest, label + line);
        }
        LayerInfo.write(dir, new LayerInfo(diffId, diffSize, stats.entries(), stats.fileBytes()));
        return new Staged(dir, diffId, blobFile, blobDigest, label + ": Extracted " + Sizes.human(diffSize));
    }

    /** The OCI manifest the store writes for a docker-archive image. */
    private static byte[] dockerManifest(ImportPlan plan, ArrayNode layers) {
        ObjectNode m = Json.object();
        m.put("schemaVersion", 2);
        m.put("mediaType", Json.OCI_MANIFEST);
        m.set("config", Json.descriptor(Json.OCI_CONFIG, plan.configDigest(), plan.config().length));
        m.set("layers", layers);
        return Json.bytes(m);
    }
}
