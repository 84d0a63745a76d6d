// Discoblocks driver for pd.csi.storage.gke.io (GCE Persistent Disk CSI): the
// nine contract exports and the optional GetResizePolicy, each a pure function from pd.h registered
// with the SDK, which reads the inputs, applies the outcome rules and writes the answer.
#include "pd.h"

DISCOBLOCKS_IS_STORAGE_CLASS_VALID(pd::IsStorageClassValid)
DISCOBLOCKS_GET_STORAGE_CLASS_ALLOWED_TOPOLOGY(pd::AllowedTopology)
DISCOBLOCKS_GET_PVC_STUB(discoblocks::driver::PvcStub)
DISCOBLOCKS_GET_CSI_DRIVER_NAMESPACE(pd::Namespace)
DISCOBLOCKS_GET_CSI_DRIVER_POD_LABELS(pd::PodLabels)
DISCOBLOCKS_GET_PRE_MOUNT_COMMAND(pd::PreMountCommand)
DISCOBLOCKS_GET_PRE_RESIZE_COMMAND(pd::PreResizeCommand)
DISCOBLOCKS_IS_FILE_SYSTEM_MANAGED(pd::FileSystemManaged)
DISCOBLOCKS_WAIT_FOR_VOLUME_ATTACHMENT_META(pd::AttachmentMetaKey)
DISCOBLOCKS_GET_RESIZE_POLICY(pd::ResizePolicy)
